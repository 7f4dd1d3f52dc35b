"""put.io's subtitles of the mount's videos shown as ``<video stem>.<language>.srt`` sidecars
beside them, which mpv, VLC, Kodi, Jellyfin and Plex pick up. :mod:`.naming` (which names a
folder's sidecars get), :mod:`.sidecars` (the background work a folder's listing starts, and
what is known). The front merges them into its folders (:mod:`putiofs.front.sidecar_files`).
See docs/mount.md, "Subtitles"."""
