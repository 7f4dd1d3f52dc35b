"""What the test suite and ``scripts/bench`` share: driving a mount in a child process, and
rclone set up against the v2 emulator.
"""
