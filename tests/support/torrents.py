"""A small valid .torrent (bencoded, one file ``movie.mkv``) for the tests of adding torrents."""

TORRENT = b"d8:announce16:http://t.example4:infod6:lengthi5e4:name9:movie.mkv12:piece lengthi16384e6:pieces20:" + b"x" * 20 + b"ee"  # noqa: E501
