"""Microsoft's own Graph SDK (msgraph-sdk), unmodified, against the emulator: calendars, event CRUD, a batch."""

from __future__ import annotations

import asyncio
import ssl

import httpx
import pytest
from kiota_abstractions.api_error import APIError
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from msgraph import GraphServiceClient
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.event import Event
from msgraph.generated.models.free_busy_status import FreeBusyStatus
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.single_value_legacy_extended_property import SingleValueLegacyExtendedProperty
from msgraph.generated.users.item.events.events_request_builder import EventsRequestBuilder
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_request_adapter import options as graph_options
from msgraph_core import GraphClientFactory
from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_item import BatchRequestItem
from msgraph_core.requests.batch_response_content import BatchResponseContent

from .graph_helpers import LINK_PROP, token_for

MEGAN = "megan@contoso.onmicrosoft.com"


class StaticToken(AccessTokenProvider):
    def __init__(self, token, host):
        self.token, self.host = token, host

    async def get_authorization_token(self, uri, additional_authentication_context=None):
        return self.token

    def get_allowed_hosts_validator(self):
        return AllowedHostsValidator([self.host])


def make_client(emulator, token):
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=emulator.ca_file)),
        options=graph_options,
    )
    host = emulator.base_url.split("://", 1)[1]
    adapter = GraphRequestAdapter(
        BaseBearerTokenAuthenticationProvider(StaticToken(token, host)), client=http
    )
    adapter.base_url = emulator.base_url + "/v1.0"
    return GraphServiceClient(request_adapter=adapter), adapter


def new_event(subject="Late shift", ext_value=None):
    event = Event(
        subject=subject,
        body=ItemBody(content="Ward 3"),
        start=DateTimeTimeZone(date_time="2026-12-02T14:00:00", time_zone="Europe/Paris"),
        end=DateTimeTimeZone(date_time="2026-12-02T22:00:00", time_zone="Europe/Paris"),
        show_as=FreeBusyStatus.Busy,
        transaction_id=None,
    )
    if ext_value:
        event.single_value_extended_properties = [
            SingleValueLegacyExtendedProperty(id=LINK_PROP, value=ext_value)
        ]
    return event


@pytest.fixture
def sdk(emulator, world):
    return make_client(emulator, token_for(emulator, MEGAN))[0]


def test_sdk_reads_me_and_lists_calendars(sdk, emulator):
    async def run():
        me = await sdk.me.get()
        calendars = await sdk.me.calendars.get()
        return me, calendars

    me, calendars = asyncio.run(run())
    assert me.user_principal_name == MEGAN
    assert [c.name for c in calendars.value] == ["Calendar"]
    assert calendars.value[0].is_default_calendar is True


def test_sdk_creates_reads_updates_and_deletes_an_event(sdk, emulator):
    async def run():
        cal = (await sdk.me.calendars.get()).value[0]
        created = await sdk.me.calendars.by_calendar_id(cal.id).events.post(
            new_event(ext_value="assignment-7")
        )
        read = await sdk.me.events.by_event_id(created.id).get()
        patched = await sdk.me.events.by_event_id(created.id).patch(Event(subject="Late shift (moved)"))
        config = EventsRequestBuilder.EventsRequestBuilderGetRequestConfiguration(
            query_parameters=EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
                filter=f"singleValueExtendedProperties/Any(ep: ep/id eq '{LINK_PROP}' and ep/value eq 'assignment-7')",
                expand=[f"singleValueExtendedProperties($filter=id eq '{LINK_PROP}')"],
            )
        )
        found = await sdk.me.events.get(request_configuration=config)
        await sdk.me.events.by_event_id(created.id).delete()
        try:
            await sdk.me.events.by_event_id(created.id).get()
        except APIError as err:
            missing = err
        else:
            missing = None
        return created, read, patched, found, missing

    created, read, patched, found, missing = asyncio.run(run())
    assert created.subject == "Late shift"
    assert created.start.time_zone == "UTC"
    assert created.start.date_time == "2026-12-02T13:00:00.0000000"
    assert read.id == created.id and read.change_key == created.change_key
    assert patched.subject == "Late shift (moved)"
    assert patched.change_key != created.change_key
    assert [e.id for e in found.value] == [created.id]
    assert found.value[0].single_value_extended_properties[0].value == "assignment-7"
    assert missing is not None and missing.response_status_code == 404
    assert missing.error.code == "ErrorItemNotFound"


def test_sdk_sends_a_batch(sdk, emulator):
    async def run():
        client, adapter = make_client(emulator, token_for(emulator, MEGAN))
        info_create = client.me.events.to_post_request_information(new_event("Batch shift"))
        info_list = client.me.calendars.to_get_request_information()
        batch = BatchRequestContent()
        create_item = BatchRequestItem(request_information=info_create)
        list_item = BatchRequestItem(request_information=info_list)
        batch.add_request(create_item.id, create_item)
        batch.add_request(list_item.id, list_item)
        response = await client.batch.post(batch)
        return create_item, list_item, response

    create_item, list_item, response = asyncio.run(run())
    assert isinstance(response, BatchResponseContent)
    assert response.get_response_by_id(create_item.id).status == 201
    assert response.get_response_by_id(list_item.id).status == 200
    mailbox = emulator.control.get(f"/graph/mailboxes/{MEGAN}").json()
    assert [e["subject"] for e in mailbox["events"]] == ["Batch shift"]


def test_sdk_pages_a_calendar_view_in_a_preferred_zone(emulator, world):
    from kiota_abstractions.headers_collection import HeadersCollection
    from msgraph.generated.users.item.calendar_view.calendar_view_request_builder import (
        CalendarViewRequestBuilder,
    )
    from msgraph_core.tasks.page_iterator import PageIterator

    client, adapter = make_client(emulator, token_for(emulator, MEGAN))

    async def run():
        for day in range(1, 13):
            event = new_event(f"Shift {day:02d}")
            event.start = DateTimeTimeZone(
                date_time=f"2026-12-{day:02d}T07:00:00", time_zone="W. Europe Standard Time"
            )
            event.end = DateTimeTimeZone(
                date_time=f"2026-12-{day:02d}T15:00:00", time_zone="W. Europe Standard Time"
            )
            await client.me.events.post(event)
        headers = HeadersCollection()
        headers.add("Prefer", 'outlook.timezone="Europe/Paris"')
        config = CalendarViewRequestBuilder.CalendarViewRequestBuilderGetRequestConfiguration(
            headers=headers,
            query_parameters=CalendarViewRequestBuilder.CalendarViewRequestBuilderGetQueryParameters(
                start_date_time="2026-12-01T00:00:00Z", end_date_time="2026-12-31T00:00:00Z",
                orderby=["start/dateTime"], select=["subject", "start"],
            ),
        )  # fmt: skip
        first = await client.me.calendar_view.get(request_configuration=config)
        seen = []
        iterator = PageIterator(first, adapter)
        await iterator.iterate(lambda event: seen.append(event) or True)
        return first, seen

    first, seen = asyncio.run(run())
    assert len(first.value) == 10 and first.odata_next_link
    assert [e.subject for e in seen] == [f"Shift {d:02d}" for d in range(1, 13)]
    assert (
        seen[0].start.date_time == "2026-12-01T07:00:00.0000000" and seen[0].start.time_zone == "Europe/Paris"
    )


def test_sdk_retry_handler_rides_out_injected_503_and_429(sdk, emulator):
    async def run():
        emulator.control.put(
            "/faults", json={"status_rates": {"503": 1.0}, "remaining": 1}
        ).raise_for_status()
        me = await sdk.me.get()
        emulator.control.put("/graph/throttling", json={"requests": 2}).raise_for_status()
        await sdk.me.calendars.get()  # the second request allowed in the window
        try:
            await sdk.me.calendars.get()  # Retry-After is most of the window: longer than the SDK waits
        except APIError as err:
            return me, err
        return me, None

    me, err = asyncio.run(run())
    assert me.user_principal_name == MEGAN
    assert err is not None and err.response_status_code == 429
    assert err.error.code == "ApplicationThrottled"
    log = emulator.control.get("/graph/requests").json()["value"]
    assert [e["status"] for e in log[:2]] == [503, 200]
