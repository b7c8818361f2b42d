"""How the front ends reach an engine: the :class:`EngineClient` protocol (the engine's
API plus event streams) and, today, :class:`InProcessClient` over an engine built in
this process. The UI and the command line import the engine only through this package
and the domain (an import-linter contract holds them to it), so a client of a detached
engine over its socket can take the in-process one's place.
"""

from cockpit.client.api import EngineClient, EventPage
from cockpit.client.inprocess import InProcessClient, open_client

__all__ = ["EngineClient", "EventPage", "InProcessClient", "open_client"]
