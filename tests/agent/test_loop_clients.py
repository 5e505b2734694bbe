"""SDK clients are built once per event loop and configuration, and go with their loop."""

import asyncio
import gc

from agent.providers.loop_clients import LoopClients


class Client:
    """Stands for an SDK client: only its identity matters here."""


def test_one_client_per_loop_and_configuration():
    clients = LoopClients()

    async def two_calls():
        first = clients.get(("key", "url"), Client)
        assert clients.get(("key", "url"), Client) is first  # the next call on this loop reuses it
        assert clients.get(("other key", "url"), Client) is not first
        return first

    one, another = asyncio.run(two_calls()), asyncio.run(two_calls())
    assert one is not another  # a new loop never gets a client whose connections belonged to a closed one


def test_a_client_goes_with_its_loop():
    clients = LoopClients()

    async def use():
        return clients.get("configuration", Client)

    loop = asyncio.new_event_loop()
    loop.run_until_complete(use())
    assert len(clients._by_loop) == 1
    loop.close()
    del loop
    gc.collect()
    assert len(clients._by_loop) == 0


def test_outside_a_running_loop_the_client_is_kept_too():
    clients = LoopClients()
    assert clients.get("configuration", Client) is clients.get("configuration", Client)
