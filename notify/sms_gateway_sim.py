"""A protocol-level SMS gateway (SMSC) simulator speaking SMPP 3.4 over TCP, for tests, benches and the demo.

It answers bind_transceiver/bind_transmitter/bind_receiver, submit_sm (with a message id), enquire_link and unbind;
after each accepted submit_sm it sends the delivery receipt (deliver_sm with esm_class 0x04, receipted_message_id
and message_state DELIVERED) to a receiver bound under the same system_id; a receipt not answered with
deliver_sm_resp (no receiver, or its connection died) is sent again when a receiver binds, as an SMSC does. It records
every submit_sm it accepted (`received`), and can be told to drop the connection after a number of messages
(`drop_after`) or to answer slowly (`answer_delay`). The PDU codec is smpplib's; the server side is ours.

    python -m notify.sms_gateway_sim --port 2775   # runs until stopped
"""

import argparse
import asyncio
import itertools
import struct
import threading
from dataclasses import dataclass, field

from smpplib import consts, smpp

UCS2 = consts.SMPP_ENCODING_ISO10646
BINDS = {"bind_transceiver", "bind_transmitter", "bind_receiver"}
RECEIVING_BINDS = {"bind_transceiver", "bind_receiver"}
DELIVERY_RECEIPT = 0x04  # esm_class of a deliver_sm that is an SMSC delivery receipt (SMPP 3.4, 5.2.12)


@dataclass(frozen=True)
class Submitted:
    """One submit_sm the gateway accepted: the text decoded (a concatenated part without its UDH header)."""

    message_id: str
    system_id: str
    source: str
    destination: str
    text: str
    data_coding: int
    reference: int | None  # the sender's user_message_reference TLV
    part: tuple[int, int]  # (part number, parts) of a concatenated message; (1, 1) for a single one


@dataclass
class Receiver:
    """A bound receiver and the receipts sent to it that it has not answered (sent again if it goes away)."""

    writer: asyncio.StreamWriter
    unanswered: dict[int, Submitted] = field(default_factory=dict)


def _pdu(command: str, **fields):
    """A PDU to send; its sequence is set by the caller (an answer's is the request's)."""
    return smpp.make_pdu(command, client=None, sequence=0, **fields)


def _decode(pdu) -> tuple[str, tuple[int, int]]:
    body, part = pdu.short_message or b"", (1, 1)
    if pdu.esm_class & consts.SMPP_GSMFEAT_UDHI and body[:3] == b"\x05\x00\x03":
        part, body = (body[5], body[4]), body[6:]
    return (body.decode("utf-16-be") if pdu.data_coding == UCS2 else body.decode("latin-1")), part


class GatewaySim:
    """Start it with start() (its own event loop in a daemon thread) or serve() inside a running loop."""

    def __init__(self, host="127.0.0.1", port=0, system_id="cityops", password="cityops", answer_delay=0.0):  # noqa: S107 (a simulator, matching the settings' defaults)
        self.host, self.port = host, port
        self.system_id, self.password = system_id, password
        self.answer_delay = answer_delay
        self.drop_after: int | None = None  # close the connection instead of answering the (n+1)-th submit_sm
        self.received: list[Submitted] = []
        self.drops = 0
        self._ids = itertools.count(1)
        self._sequence = itertools.count(1)  # of the PDUs the gateway starts (deliver_sm)
        self._receivers: dict[str, list[Receiver]] = {}
        self._pending_receipts: dict[str, list[Submitted]] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None

    def texts_to(self, destination: str) -> list[str]:
        """The whole messages `destination` received, parts joined, in order of their first part."""
        with self._lock:
            messages, current = [], {}
            for item in self.received:
                if item.destination != destination:
                    continue
                current.setdefault(item.reference, []).append(item.text)
                if item.part[0] == item.part[1]:
                    messages.append("".join(current.pop(item.reference)))
            return messages

    async def serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._session, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    def start(self) -> int:
        """Serve on a thread of its own; returns the port."""
        ready = threading.Event()

        def run():
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.serve())
            ready.set()
            loop.run_forever()

        threading.Thread(target=run, name="sms-gateway-sim", daemon=True).start()
        ready.wait(10)
        return self.port

    def stop(self) -> None:
        if self._loop is not None and self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
            self._loop.call_soon_threadsafe(self._loop.stop)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        system_id = None
        try:
            while True:
                header = await reader.readexactly(4)
                raw = header + await reader.readexactly(struct.unpack(">L", header)[0] - 4)
                pdu = smpp.parse_pdu(raw, client=None, sequence=0, allow_unknown_opt_params=True)
                if pdu.command in BINDS:
                    ok = pdu.system_id.decode() == self.system_id and pdu.password.decode() == self.password
                    answer = _pdu(f"{pdu.command}_resp", system_id="CITYOPS-SIM")
                    answer.status = consts.SMPP_ESME_ROK if ok else consts.SMPP_ESME_RINVPASWD
                    self._answer(writer, answer, pdu)
                    if not ok:
                        break
                    system_id = self.system_id
                    if pdu.command in RECEIVING_BINDS:
                        self._receivers.setdefault(system_id, []).append(Receiver(writer))
                        self._flush_receipts(system_id)
                elif pdu.command == "submit_sm":
                    if system_id is None:
                        answer = _pdu("generic_nack")
                        answer.status = consts.SMPP_ESME_RINVBNDSTS
                        self._answer(writer, answer, pdu)
                        continue
                    if self.drop_after is not None and self.drop_after <= 0:
                        self.drops += 1
                        break  # the connection dies before the answer: the sender cannot know it was accepted
                    if self.drop_after is not None:
                        self.drop_after -= 1
                    if self.answer_delay:
                        await asyncio.sleep(self.answer_delay)
                    item = self._accept(pdu, system_id)
                    self._answer(writer, _pdu("submit_sm_resp", message_id=item.message_id), pdu)
                    if pdu.registered_delivery & 0x01:
                        self._pending_receipts.setdefault(system_id, []).append(item)
                        self._flush_receipts(system_id)
                elif pdu.command == "enquire_link":
                    self._answer(writer, _pdu("enquire_link_resp"), pdu)
                elif pdu.command == "unbind":
                    self._answer(writer, _pdu("unbind_resp"), pdu)
                    break
                elif pdu.command == "deliver_sm_resp":
                    for receiver in self._receivers.get(system_id, []):
                        receiver.unanswered.pop(pdu.sequence, None)
                # enquire_link_resp: nothing to do
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            for receiver in list(self._receivers.get(system_id, [])):
                if receiver.writer is writer:  # receipts it did not answer wait for the next receiver
                    self._receivers[system_id].remove(receiver)
                    self._pending_receipts.setdefault(system_id, []).extend(receiver.unanswered.values())
            writer.close()

    def _accept(self, pdu, system_id: str) -> Submitted:
        text, part = _decode(pdu)
        item = Submitted(
            message_id=f"SIM{next(self._ids):08d}",
            system_id=system_id,
            source=pdu.source_addr.decode(),
            destination=pdu.destination_addr.decode(),
            text=text,
            data_coding=pdu.data_coding,
            reference=getattr(pdu, "user_message_reference", None),
            part=part,
        )
        with self._lock:
            self.received.append(item)
        return item

    @staticmethod
    def _answer(writer: asyncio.StreamWriter, answer, request) -> None:
        answer.sequence = request.sequence
        writer.write(answer.generate())

    def _flush_receipts(self, system_id: str) -> None:
        """Send the waiting receipts to the newest receiver bound under system_id (if any)."""
        receivers = self._receivers.get(system_id)
        if not receivers:
            return
        receiver = receivers[-1]
        for item in self._pending_receipts.pop(system_id, []):
            sequence = next(self._sequence)
            receiver.unanswered[sequence] = item
            self._send_receipt(receiver.writer, item, sequence)

    @staticmethod
    def _send_receipt(writer: asyncio.StreamWriter, item: Submitted, sequence: int) -> None:
        text = f"id:{item.message_id} sub:001 dlvrd:001 stat:DELIVRD err:000 text:"
        receipt = _pdu(
            "deliver_sm",
            source_addr=item.destination,
            destination_addr=item.source,
            esm_class=DELIVERY_RECEIPT,
            short_message=text.encode(),
            receipted_message_id=item.message_id,
            message_state=consts.SMPP_MESSAGE_STATE_DELIVERED,
        )
        receipt.sequence = sequence
        writer.write(receipt.generate())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2775)
    parser.add_argument("--system-id", default="cityops")
    parser.add_argument("--password", default="cityops")
    args = parser.parse_args()

    async def run():
        await GatewaySim(args.host, args.port, args.system_id, args.password).serve()
        await asyncio.Event().wait()

    asyncio.run(run())


if __name__ == "__main__":
    main()
