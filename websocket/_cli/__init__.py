"""wsdump's interactive session and output (its entry point stays in :mod:`websocket._wsdump`)."""
