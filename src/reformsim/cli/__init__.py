"""The ``reformsim`` command: one module per command or group of commands.

``app`` holds the group, ``options`` what the commands share; importing this
package registers every command on the group.
"""

from . import compare, explore, model, plot, report, run  # noqa: F401  (each registers its commands)
from .app import main

__all__ = ["main"]
