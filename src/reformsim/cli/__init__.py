"""The ``reformsim`` command: one module per command or group of commands.

``app`` holds the group, ``options`` what the commands share; importing this
package registers every command on the group.
"""

# each module registers its commands on the group
from . import (  # noqa: F401
    calibrate,
    compare,
    examples,
    explore,
    factorial,
    model,
    optimize,
    plot,
    report,
    run,
    sensitivity,
)
from .app import main, program

__all__ = ["main", "program"]
