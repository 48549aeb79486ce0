"""The kernel browser's User-Agent prefix: one string shared by the browser that sends it and the log that
recognises it (``cors_lab.servers.log.classify_client``).

Owns that constant only. Stdlib-free and import-free, so ``cors_lab.browser`` reads it without loading
the lab servers.
"""

KERNEL_USER_AGENT_PREFIX = "cors-lab-kernel/"

__all__ = ["KERNEL_USER_AGENT_PREFIX"]
