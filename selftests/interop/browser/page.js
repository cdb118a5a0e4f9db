// SPDX-License-Identifier: GPL-2.0
// MQTT.js in the browser, for interop/browser.sh (checks.py drives it).
// The query string says what to do:
//   url        the broker, ws://HOST:PORT or wss://HOST:PORT
//   exchanges  JSON, a list of { sub, pub, qos, repeat }: subscribe to
//              each sub at its qos in one SUBSCRIBE; once it is
//              acknowledged, publish to each pub at its qos the text
//              repeated repeat times (a large payload needs no large URL)
//   text       that text
// Everything seen goes to window.result, which checks.py polls.
"use strict";

const params = new URLSearchParams(location.search);
const exchanges = JSON.parse(params.get("exchanges"));
const text = params.get("text");

window.result = {
  granted: null, // { topic: QoS } from the SUBACK
  published: {}, // { topic: true } once written (QoS 0) or acknowledged
  messages: [], // { topic, payload, qos } as received
  errors: [],
};
const result = window.result;

// No reconnection: a dropped connection must show as an error, not heal.
const client = mqtt.connect(params.get("url"), {
  clientId: "browser-" + Math.random().toString(16).slice(2, 10),
  protocolVersion: 4,
  reconnectPeriod: 0,
  connectTimeout: 60000,
});

let connected = false;
client.on("connect", () => {
  connected = true;
  const filters = {};
  for (const x of exchanges) filters[x.sub] = { qos: x.qos };
  client.subscribe(filters, (err, granted) => {
    if (err) {
      result.errors.push("subscribe: " + err.message);
      return;
    }
    const qos = {};
    for (const g of granted) qos[g.topic] = g.qos;
    result.granted = qos;
    for (const x of exchanges) {
      client.publish(x.pub, text.repeat(x.repeat), { qos: x.qos }, (err) => {
        if (err) result.errors.push("publish: " + err.message);
        else result.published[x.pub] = true;
      });
    }
  });
});
client.on("message", (topic, message, packet) => {
  // Payloads are UTF-8 text here; invalid bytes become U+FFFD and so
  // differ from what was sent.
  result.messages.push({
    topic,
    payload: new TextDecoder().decode(message),
    qos: packet.qos,
  });
});
client.on("error", (err) => result.errors.push("error: " + err.message));
client.on("close", () => {
  result.errors.push(connected ? "connection closed" : "connection failed");
});
