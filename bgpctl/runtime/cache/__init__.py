"""Informer cache: reflector, FIFO, store and indexers (client-go tools/cache)."""
