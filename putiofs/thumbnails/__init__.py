"""Freedesktop thumbnails of the mount's videos from put.io's screenshots (``--thumbnails``):
file managers find them where the Thumbnail Managing Standard says and read no byte of the
video. :mod:`.naming` (the URI and where its thumbnail lives), :mod:`.image` (the PNG, Pillow
as the optional extra ``putiofs[thumbnails]``), :mod:`.writer` (the background work a folder's
listing starts). See docs/mount.md, "Thumbnails"."""
