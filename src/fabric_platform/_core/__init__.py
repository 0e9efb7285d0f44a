"""The SDK's rules, without I/O: building requests, retry decisions, the response envelope,
SSE decoding, download planning, file names and run rules.

Everything here is a pure function of its inputs (clocks and random sources are
parameters), shared by the sync and the async client and unit-tested without a network.
"""
