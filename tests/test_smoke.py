from tests.harness import Harness


async def test_tag_flow(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "my VM is down")
        first = h.last_message_id
        out = await h.say("evan", "/case", reply_to=first)
        assert out.opened
        case = await h.case(out.case_id)
        assert case["title"] == "my VM is down"
        print(await h.sent())
