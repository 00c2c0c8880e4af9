"""SOAP 1.1 plumbing for EWS: namespaces, reading the request envelope, writing the response envelope
(with the ServerVersionInfo header exchangelib negotiates from), ResponseMessages and SOAP faults."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405  (parsing goes through defusedxml-like guards below)
from typing import Any

from . import exceptions as exc

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"
for _prefix, _uri in (("s", SOAP), ("m", M), ("t", T), ("e", E)):
    ET.register_namespace(_prefix, _uri)

# Exchange Server 2016 CU23 (on-premises): what exchangelib reads from every response header.
SERVER_VERSION = {
    "MajorVersion": "15",
    "MinorVersion": "1",
    "MajorBuildNumber": "2507",
    "MinorBuildNumber": "6",
    "Version": "V2017_07_11",
}
MAX_BODY = 4 * 1024 * 1024


def m(tag: str) -> str:
    return f"{{{M}}}{tag}"


def t(tag: str) -> str:
    return f"{{{T}}}{tag}"


def sub(parent: ET.Element, tag: str, text: Any = None, **attrs: Any) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = str(text)
    return el


def parse_request(raw: bytes) -> tuple[ET.Element | None, ET.Element]:
    """(header, operation element). Bad XML or a missing Body is a schema-validation fault."""
    if len(raw) > MAX_BODY:
        raise exc.schema_violation("the request is too large")
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:  # no DTDs or entities: the XML bomb guard
        raise exc.schema_violation("DTDs are not allowed")
    try:
        root = ET.fromstring(raw)  # noqa: S314
    except ET.ParseError as err:
        raise exc.schema_violation(f"the request is not well-formed XML ({err})") from None
    if root.tag != f"{{{SOAP}}}Envelope":
        raise exc.schema_violation("the root element must be soap:Envelope")
    header = root.find(f"{{{SOAP}}}Header")
    body = root.find(f"{{{SOAP}}}Body")
    if body is None or len(body) == 0:
        raise exc.schema_violation("soap:Body is missing or empty")
    return header, body[0]


def envelope(response: ET.Element | None, fault: ET.Element | None = None) -> bytes:
    env = ET.Element(f"{{{SOAP}}}Envelope")
    if response is not None:
        header = sub(env, f"{{{SOAP}}}Header")
        sub(header, t("ServerVersionInfo"), **SERVER_VERSION)
    body = sub(env, f"{{{SOAP}}}Body")
    body.append(response if response is not None else fault)  # type: ignore[arg-type]
    return ET.tostring(env, encoding="utf-8", xml_declaration=True)


def operation_response(name: str) -> tuple[ET.Element, ET.Element]:
    """(m:<Name>Response, its m:ResponseMessages)."""
    response = ET.Element(m(f"{name}Response"))
    return response, sub(response, m("ResponseMessages"))


def success(messages: ET.Element, name: str) -> ET.Element:
    msg = sub(messages, m(f"{name}ResponseMessage"), ResponseClass="Success")
    sub(msg, m("ResponseCode"), "NoError")
    return msg


def error(messages: ET.Element, name: str, err: exc.EWSError) -> ET.Element:
    msg = sub(messages, m(f"{name}ResponseMessage"), ResponseClass="Error")
    sub(msg, m("MessageText"), err.message)
    sub(msg, m("ResponseCode"), err.code)
    sub(msg, m("DescriptiveLinkKey"), "0")
    return msg


def fault(err: exc.EWSFault) -> bytes:
    """A SOAP fault in Exchange's shape: faultcode, faultstring, and detail with e:ResponseCode / e:Message and,
    for ErrorServerBusy, t:MessageXml/t:Value[@Name=BackOffMilliseconds]."""
    node = ET.Element(f"{{{SOAP}}}Fault")
    code = "a:ErrorSchemaValidation" if err.code == "ErrorSchemaValidation" else "a:" + err.code
    sub(node, "faultcode", code)
    sub(node, "faultstring", err.message)
    detail = sub(node, "detail")
    sub(detail, f"{{{E}}}ResponseCode", err.code)
    sub(detail, f"{{{E}}}Message", err.message)
    if err.back_off_ms is not None:
        xml = sub(detail, t("MessageXml"))
        sub(xml, t("Value"), err.back_off_ms, Name="BackOffMilliseconds")
    text = envelope(None, node)
    # faultcode is a QName: declare the "a" prefix Exchange uses for the errors namespace.
    return text.replace(b"<s:Envelope ", f'<s:Envelope xmlns:a="{E}" '.encode(), 1)
