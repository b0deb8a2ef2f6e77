"""The event-loop driver of WebSocketApp.run_forever: runner, per-connection state, keepalive, reconnect."""
