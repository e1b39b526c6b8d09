"""The ``reformsim`` command: one module per command or group of commands.

``app`` holds the group, ``options`` what the commands share; importing this
package registers every command on the group.
"""

# each module registers its commands on the group
from . import calibrate, compare, factorial, model, optimize, plot, run, sensitivity  # noqa: F401
from .app import main

__all__ = ["main"]
