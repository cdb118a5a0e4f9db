// SPDX-License-Identifier: GPL-2.0
// The MQTT.js README example against the broker on localhost:1883: connect,
// subscribe, publish, "message" event.  Prints TAP.
"use strict";

const mqtt = require("mqtt");

const TIMEOUT_MS = 10000;
const results = [];

function check(desc, ok, detail) {
  results.push(ok);
  console.log(`${ok ? "ok" : "not ok"} ${results.length} ${desc}`);
  if (!ok && detail) console.log(`# ${detail}`);
}

console.log("1..4");
const client = mqtt.connect("mqtt://localhost", { reconnectPeriod: 0 });
const timer = setTimeout(() => {
  check("finished within the time limit", false, `${TIMEOUT_MS} ms`);
  process.exit(1);
}, TIMEOUT_MS);

client.on("error", (err) => {
  check("no client error", false, err.message);
  process.exit(1);
});

client.on("connect", () => {
  check("connect", true);
  client.subscribe("presence", (err, granted) => {
    check("subscribe presence granted at QoS 0",
      !err && granted.length === 1 && granted[0].qos === 0,
      err ? err.message : JSON.stringify(granted));
    if (!err) client.publish("presence", "Hello mqtt");
  });
});

client.on("message", (topic, message) => {
  check("message event on presence with payload 'Hello mqtt'",
    topic === "presence" && message.toString() === "Hello mqtt",
    `${topic}: ${message.toString()}`);
  client.end(false, {}, () => {
    clearTimeout(timer);
    check("clean end", true);
    process.exit(results.every(Boolean) ? 0 : 1);
  });
});
