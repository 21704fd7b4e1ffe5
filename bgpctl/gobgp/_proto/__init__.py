"""Generated GoBGP API stubs (package ``apipb``); see ``protos/generate.py``.

Do not edit: regenerate with ``python protos/generate.py``.
"""
