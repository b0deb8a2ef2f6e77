"""The blocking network layer: transport, TLS, proxies, options and the opening handshake."""
