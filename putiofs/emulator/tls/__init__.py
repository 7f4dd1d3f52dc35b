"""The loopback TLS CONNECT front that lets unmodified put.io clients (rclone, the SDKs) reach the
emulator (:mod:`~putiofs.emulator.tls.front`), its decrypting tunnels
(:mod:`~putiofs.emulator.tls.tunnel`) and its throw-away certificate authority
(:mod:`~putiofs.emulator.tls.certs`). It speaks to the emulator only over a socket, so it imports
nothing else of the emulator but the stop signals.
"""
