"""``python -m reformsim`` is the ``reformsim`` command."""

from .cli import program

program()
