"""The pure spec model: WHATWG URL, Fetch, MIME Sniffing and HTML rules, RFC 9111, stdlib only, no I/O.

Everything else in cors_lab imports these rules; nothing here imports sockets, threads, requests,
widgets or images. Each rule quotes the spec steps it implements and links their anchors; README.md
records the revision each module quotes and maps every verdict's step id to its rule.
"""
