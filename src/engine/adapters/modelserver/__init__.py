"""The scripted model server (Anthropic Messages and OpenAI Responses APIs) that real
agent clients talk to in tests and in ``cockpit demo``."""

from engine.adapters.modelserver.script import ModelScript, load_model_script, parse_model_script
from engine.adapters.modelserver.server import ModelServer

__all__ = ["ModelScript", "ModelServer", "load_model_script", "parse_model_script"]
