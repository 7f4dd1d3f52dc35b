"""put.io's file type names and codes, content types and human-readable sizes."""

from __future__ import annotations

import mimetypes

#: The spec's ``filetypes`` table: type name -> integer code (the legacy ``type`` filter form).
TYPE_CODES: dict[str, int] = {
    "folder": 0,
    "file": 1,
    "audio": 2,
    "movie": 3,
    "image": 4,
    "compressed": 5,
    "pdf": 6,
    "ms_doc": 7,
    "text": 8,
    "swf": 9,
}

_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "audio": ("mp3", "ogg", "oga", "opus", "flac", "wav", "m4a", "aac", "wma"),
    "movie": ("mp4", "m4v", "mkv", "avi", "mov", "wmv", "flv", "webm", "mpg", "mpeg", "ts", "ogv"),
    "image": ("jpg", "jpeg", "png", "gif", "bmp", "webp", "tif", "tiff"),
    "compressed": ("zip", "rar", "7z", "gz", "tgz", "bz2", "xz", "tar"),
    "pdf": ("pdf",),
    "ms_doc": ("doc", "docx", "xls", "xlsx", "ppt", "pptx"),
    "text": ("txt", "nfo", "md", "srt", "sub", "csv", "log", "json", "xml", "ini", "cue", "m3u"),
    "swf": ("swf",),
}
_TYPE_BY_EXTENSION = {ext: name for name, exts in _EXTENSIONS.items() for ext in exts}

_CONTENT_TYPES = {
    "mp4": "video/mp4",
    "m4v": "video/mp4",
    "mkv": "video/x-matroska",
    "webm": "video/webm",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "flac": "audio/flac",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "txt": "text/plain; charset=utf-8",
    "nfo": "text/plain; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "srt": "text/plain; charset=utf-8",
}


def extension(name: str) -> str:
    """The lower-case extension of ``name`` without the dot, or "" when it has none."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or "/" in ext:
        return ""
    return ext.lower()


def type_name(name: str, is_dir: bool) -> str:
    """put.io's type name of an item: "folder" for folders, else derived from the extension."""
    if is_dir:
        return "folder"
    return _TYPE_BY_EXTENSION.get(extension(name), "file")


def content_type(name: str) -> str:
    """The Content-Type the data URLs answer for a file called ``name``."""
    ext = extension(name)
    if ext in _CONTENT_TYPES:
        return _CONTENT_TYPES[ext]
    guessed, _ = mimetypes.guess_type("x." + ext) if ext else (None, None)
    return guessed or "application/octet-stream"


def human_size(size: int) -> str:
    """put.io's human size: 1024-based, two decimals, one-letter suffix ("89.86K", "100.10M")."""
    value = float(size)
    for suffix in ("B", "K", "M", "G"):
        if value < 1024:
            return f"{value:.2f}{suffix}"
        value /= 1024
    return f"{value:.2f}T"
