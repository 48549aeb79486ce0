"""The pure spec model: WHATWG URL, Fetch and HTML canvas rules, stdlib only, no I/O.

Everything else in cors_lab imports these rules; nothing here imports sockets, threads, requests,
widgets or images. Each rule quotes the spec steps it implements and links their anchors.
"""
