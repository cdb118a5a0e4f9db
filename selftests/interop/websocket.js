// SPDX-License-Identifier: GPL-2.0
// MQTT.js (Node, its "ws" transport) over WebSocket: URL from argv[2]
// (ws://... or wss://..., the test CA in $KMQTT_TEST_CERTS for wss),
// subscribe, publish at QoS 1 a message of argv[3] bytes, receive it
// whole.  Exits 0 when it came back intact.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const mqtt = require("mqtt");

const TIMEOUT_MS = 60000;
const url = process.argv[2];
const size = Number(process.argv[3] || 16);
const topic = `mqttjs/ws/${size}`;
const payload = crypto.randomBytes(size);
const options = { reconnectPeriod: 0, protocolVersion: 5 };
if (url.startsWith("wss:")) {
  options.ca = fs.readFileSync(`${process.env.KMQTT_TEST_CERTS}/ca.pem`);
  options.rejectUnauthorized = true;
}
const client = mqtt.connect(url, options);

function finish(ok, msg) {
  console.log(msg);
  client.end(true);
  process.exit(ok ? 0 : 1);
}

setTimeout(() => finish(false, `no message within ${TIMEOUT_MS} ms`),
  TIMEOUT_MS);
client.on("error", (err) => finish(false, `client error: ${err.message}`));
client.on("connect", () => {
  client.subscribe(topic, { qos: 1 }, (err, granted) => {
    if (err || granted[0].qos !== 1) {
      finish(false, `subscribe: ${err ? err.message : JSON.stringify(granted)}`);
      return;
    }
    client.publish(topic, payload, { qos: 1 });
  });
});
client.on("message", (got, message) => {
  finish(got === topic && payload.equals(message),
    `${got}: ${message.length} bytes, ${payload.equals(message) ? "intact" : "different"}`);
});
