"""One error tree for the whole node.

    HyperbeamError
     +-- CodecError (ValueError)          bad bytes or text on the way in
     |    +-- PathError                   a HyperPATH that does not parse
     +-- ResolutionError                  AO-Core could not resolve a request
     |    +-- DeviceNotFound              `device` names nothing loadable
     |    +-- KeyNotFound                 the key is not in the message
     |    +-- InfiniteRecursion           a resolution waits on itself
     +-- ExecutionError                   a device handler raised
     +-- WorkLimitExceeded                a request needs more work than allowed

Every class carries ``status``, a hint for the HTTP edge. Only the HTTP edge
turns errors into responses.
"""

from __future__ import annotations


class HyperbeamError(Exception):
    """Root of every error the node raises on purpose."""

    status: int = 500

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if status is not None:
            self.status = status


class CodecError(HyperbeamError, ValueError):
    status = 400


class PathError(CodecError):
    status = 400


class SignatureError(HyperbeamError):
    """A signature or commitment that does not verify."""

    status = 400


class ResolutionError(HyperbeamError):
    status = 500


class DeviceNotFound(ResolutionError):
    status = 404


class KeyNotFound(ResolutionError):
    status = 404


class InfiniteRecursion(ResolutionError):
    status = 508


class ExecutionError(HyperbeamError):
    status = 500


class WorkLimitExceeded(HyperbeamError):
    """A request needs more work (steps, nesting, path parts, bytes) than
    the node's per-request budget allows (see ``hyperbeam.budget``)."""

    status = 400
