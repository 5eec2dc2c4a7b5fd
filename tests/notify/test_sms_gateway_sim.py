"""The SMPP 3.4 gateway simulator at the protocol level, driven by smpplib's client: binds, enquire_link, unbind,
a refused password, a receipt kept for a receiver that binds later."""

import pytest
import smpplib.client
import smpplib.exceptions
import smpplib.smpp
from smpplib import consts

from . import servers


@pytest.fixture
def sim():
    gateway = servers.gateway()
    yield gateway
    gateway.stop()


def client(sim) -> smpplib.client.Client:
    made = smpplib.client.Client("127.0.0.1", sim.port, timeout=5, allow_unknown_opt_params=True)
    made.connect()
    return made


def test_a_wrong_password_is_refused(sim):
    refused = client(sim)
    with pytest.raises(smpplib.exceptions.PDUError, match="Invalid Password"):
        refused.bind_transceiver(system_id="cityops", password="wrong")
    refused.disconnect()


def test_enquire_link_and_unbind_are_answered(sim):
    session = client(sim)
    session.bind_transmitter(system_id="cityops", password="cityops")
    session.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=session))
    assert session.read_pdu().command == "enquire_link_resp"
    assert session.unbind().command == "unbind_resp"
    session.disconnect()


def test_a_receipt_waits_for_a_receiver(sim):
    sender = client(sim)
    sender.bind_transmitter(system_id="cityops", password="cityops")
    sender.send_message(
        source_addr="cityops", destination_addr="13800138000", short_message="测试".encode("utf-16-be"),
        data_coding=consts.SMPP_ENCODING_ISO10646, registered_delivery=1,
    )  # fmt: skip
    answer = sender.read_pdu()
    assert answer.command == "submit_sm_resp" and answer.status == consts.SMPP_ESME_ROK
    sender.unbind()
    sender.disconnect()
    assert sim.texts_to("13800138000") == ["测试"]

    receiver = client(sim)
    receiver.bind_receiver(system_id="cityops", password="cityops")
    receipt = receiver.read_pdu()
    assert receipt.command == "deliver_sm" and receipt.receipted_message_id.decode() == answer.message_id.decode()
    assert receipt.message_state == consts.SMPP_MESSAGE_STATE_DELIVERED
    receiver.disconnect()
