// SPDX-License-Identifier: GPL-2.0
// MQTT.js over TLS (mqtts://localhost:8883) with a username and password,
// verifying the server against the test CA ($KMQTT_TEST_CERTS/ca.pem):
// connect, subscribe, publish, receive.  Exits 0 when the message came back.
"use strict";

const fs = require("fs");
const mqtt = require("mqtt");

const TIMEOUT_MS = 30000;
const client = mqtt.connect("mqtts://localhost:8883", {
  ca: fs.readFileSync(`${process.env.KMQTT_TEST_CERTS}/ca.pem`),
  rejectUnauthorized: true,
  username: "alice",
  password: "tls secret",
  reconnectPeriod: 0,
});

function finish(ok, msg) {
  console.log(msg);
  client.end(true);
  process.exit(ok ? 0 : 1);
}

setTimeout(() => finish(false, `no message within ${TIMEOUT_MS} ms`),
  TIMEOUT_MS);
client.on("error", (err) => finish(false, `client error: ${err.message}`));
client.on("connect", () => {
  const socket = client.stream;
  console.log(`connected over ${socket.getProtocol()}, authorized ${socket.authorized}`);
  if (!socket.authorized) finish(false, "server certificate not verified");
  client.subscribe("mqttjs/tls", { qos: 1 }, (err, granted) => {
    if (err || granted[0].qos !== 1) {
      finish(false, `subscribe: ${err ? err.message : JSON.stringify(granted)}`);
      return;
    }
    client.publish("mqttjs/tls", "over tls", { qos: 1 });
  });
});
client.on("message", (topic, message) => {
  finish(topic === "mqttjs/tls" && message.toString() === "over tls",
    `message on ${topic}: ${message}`);
});
