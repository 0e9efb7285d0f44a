"""Everything that knows httpx: the clients the SDK creates, each attempt's request, the
deadline clamps on sockets and bodies, pool wrapping, fork safety, proxies from the
environment, signed URLs, and the SDK's own asyncio HTTP/1.1 transport.
"""
