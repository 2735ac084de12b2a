"""The VM console: VNC in the browser through the portal (docs/console.md).

``POST /api/v1/vm-instances/<uuid>/console/`` issues a short-lived signed token
(``tokens``); the console page (``views``) runs noVNC, which opens the websocket
``/ws/console/<token>/``; the consumer there (``proxy``) checks the token, asks the
VM's host agent for the VNC port and relays the RFB bytes to QEMU's VNC server.
Each VM has its own VNC password (``password``), set on its domain at define time.
"""
