"""What every service process under `ticketing up` loads, loaded once in the process they
are forked from (runtime/forked.py): the framework, the database and bus clients, the
shared library. A fork shares these pages with its parent until it writes to them, so a
service holds as its own only what is its own.

Importing this module is its whole purpose. It must not start a thread (a fork copies only
the forking one) nor read the environment (each service is handed its own after the fork).
"""

import gc

from ticketing.runtime.serve import without_websockets

without_websockets()  # before nats is imported, as in a process that serves

import uvicorn.lifespan.on  # noqa: E402  # what uvicorn loads when it starts serving
import uvicorn.protocols.http.httptools_impl  # noqa: E402, F401
import uvloop  # noqa: E402, F401

import ticketing.common.app  # noqa: E402
import ticketing.common.auth  # noqa: E402
import ticketing.common.bus.runtime  # noqa: E402
import ticketing.common.db  # noqa: E402, F401

# Out of the collector's way: a collection in a child would otherwise write to, and so
# copy, every page these objects live on.
gc.freeze()
