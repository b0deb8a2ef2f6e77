"""The sans-I/O protocol core: bytes in, events out; imports nothing above :mod:`websocket._exceptions`."""
