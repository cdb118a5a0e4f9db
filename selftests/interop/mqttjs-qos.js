// SPDX-License-Identifier: GPL-2.0
// MQTT.js QoS as in its README against the broker on localhost:1883:
// subscribe with { qos: 2 }, publish with { qos: 1 } and { qos: 2 }; each
// message arrives once at min(published, granted) QoS (MQTT-3.8.4-6).
// Prints TAP.
"use strict";

const mqtt = require("mqtt");

// Failure bound: MQTT.js alone takes up to 10 s to connect in the TCG test
// VM (its modules load over 9p), with Mosquitto as with kmqtt.
const TIMEOUT_MS = 45000;
const results = [];

function check(desc, ok, detail) {
  results.push(ok);
  console.log(`${ok ? "ok" : "not ok"} ${results.length} ${desc}`);
  if (!ok && detail) console.log(`# ${detail}`);
}

function finish() {
  process.exit(results.length === 5 && results.every(Boolean) ? 0 : 1);
}

console.log("1..5");
const timer = setTimeout(() => {
  check("finished within the time limit", false,
    `${TIMEOUT_MS} ms; received ${received.join(",")}, published ${published}`);
  finish();
}, TIMEOUT_MS);

const client = mqtt.connect("mqtt://localhost", {
  reconnectPeriod: 0, clientId: "mqttjs-qos",
});
client.on("error", (err) => {
  check("no client error", false, err.message);
  finish();
});

// End once both messages arrived and the QoS 2 publish completed.
const received = [];
let published = false;
function maybeEnd() {
  if (received.length < 2 || !published) return;
  check("qos 1 and qos 2 messages arrive once each at their QoS, in order",
    received.join(",") === "one@1,two@2", received.join(","));
  // UNSUBACK comes after the broker's PUBREL for "two": once it is here
  // the QoS 2 flow is complete on both sides and ending is clean.
  client.unsubscribe("mqttjs/qos", () => {
    client.end(false, {}, () => {
      clearTimeout(timer);
      check("clean end", true);
      finish();
    });
  });
}

client.on("message", (topic, message, packet) => {
  received.push(`${message.toString()}@${packet.qos}`);
  maybeEnd();
});

client.on("connect", () => {
  client.subscribe("mqttjs/qos", { qos: 2 }, (err, granted) => {
    check("subscribe { qos: 2 } granted at QoS 2",
      !err && granted.length === 1 && granted[0].qos === 2,
      err ? err.message : JSON.stringify(granted));
    client.publish("mqttjs/qos", "one", { qos: 1 }, (e) => {
      check("publish { qos: 1 } acknowledged (PUBACK)", !e, e && e.message);
      client.publish("mqttjs/qos", "two", { qos: 2 }, (e2) => {
        check("publish { qos: 2 } completed (PUBCOMP)", !e2, e2 && e2.message);
        published = true;
        maybeEnd();
      });
    });
  });
});
