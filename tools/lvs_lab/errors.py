"""Errors the lab reports to its user: each one says what is wrong and, where it can, what to do."""


class LabError(Exception):
    """A problem the user can act on; the command line prints it without a traceback."""


class TopologyError(LabError):
    """The topology file is malformed or unsafe. Raised before anything is created."""
