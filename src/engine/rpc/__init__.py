"""The engine's socket: JSON-RPC 2.0 over a Unix socket, one per workspace (issue 15).

* :mod:`engine.rpc.wire`: the messages and how values cross (shared with clients);
* :mod:`engine.rpc.address`: where the socket is, and whether an engine answers there;
* :mod:`engine.rpc.server`: the engine's side of the connection.
"""
