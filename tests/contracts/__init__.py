"""Contract suites: one set of tests that every implementation of an interface
must pass.

``test_store_contract.py`` checks every store backend against the
:class:`~hyperbeam.store.base.Store` contract, with
:class:`~hyperbeam.store.memory.MemoryStore` as the reference model.

Adding a backend
----------------
Append a :class:`~tests.contracts.backends.Backend` to ``BACKENDS`` in
``backends.py`` (the test ids are its ``name``, so ``-k lmdb`` picks one):

- ``open(directory)`` returns a store kept under ``directory``; calling it
  again on the same directory must reopen the same data (used by the
  persistence tests).
- ``caps`` says what the backend can do. Tests marked
  ``@pytest.mark.needs("<cap>")`` are not generated for backends without it:
  ``write`` (mutations through this very store), ``persist`` (data survives
  ``stop`` and a reopen), ``threads`` (safe to share between threads),
  ``strict-keys`` (refuses keys with NUL).
- Read-only backends (a remote node, a gateway) leave out ``write`` and give
  ``seed(store)``: the store whose contents the backend under test then serves
  (for a remote node, the store of the peer node started in ``open``). The
  read-path tests write their fixtures through ``seed`` and read through the
  backend, so they run unchanged; the mutation tests are not generated.
"""
