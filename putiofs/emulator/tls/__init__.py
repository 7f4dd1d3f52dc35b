"""The loopback TLS CONNECT front that lets unmodified put.io clients (rclone, the SDKs) reach the
emulator, with its throw-away certificate authority.
"""
