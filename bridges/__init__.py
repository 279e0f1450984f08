"""Reference bridges: separate programs that speak `casebot.chat/v1` to casebot over HTTP.

Nothing in casebot imports this package (tests/test_import_rules.py holds it); each
bridge brings its own SDK as an optional extra, e.g. `pip install casebot[matrix]`.
"""
