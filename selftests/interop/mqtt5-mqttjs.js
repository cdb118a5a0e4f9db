// SPDX-License-Identifier: GPL-2.0
// MQTT 5.0 with MQTT.js (protocolVersion: 5) against the broker on
// 127.0.0.1:$MQTT5_PORT (run by mqtt5.sh): CONNACK as MQTT.js reads it,
// PUBLISH properties between MQTT.js clients, a 3.1.1 MQTT.js subscriber
// alongside, No Local, subscription identifiers and UNSUBACK reason codes.  Prints TAP; each check
// names the MQTT 5.0 statement or section it holds the broker to.  Client
// ids start with m5j-, topics with mqtt5-js/.
"use strict";

const mqtt = require("mqtt");

const PORT = Number(process.env.MQTT5_PORT || 1883);
const BROKER = process.env.KMQTT_TEST_BROKER || "kmqttd";
const T = "mqtt5-js/";
const PLAN = 7;
// Failure bounds: MQTT.js alone takes up to 10 s to load and connect in
// the TCG test VM (its modules come over 9p).
const WAIT_MS = 15000;
const TOTAL_MS = 60000;

const results = [];

function check(desc, ok, detail) {
  results.push(ok);
  console.log(`${ok ? "ok" : "not ok"} ${results.length} - ${desc}`);
  if (!ok && detail) {
    for (const line of String(detail).split("\n")) console.log(`# ${line}`);
  }
}

function finish() {
  if (results.length !== PLAN) {
    console.log(`# ${results.length} results, ${PLAN} planned`);
  }
  process.exit(results.length === PLAN && results.every(Boolean) ? 0 : 1);
}

function timeout(promise, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no ${what} within ` +
        `${WAIT_MS / 1000} s`)), WAIT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

// A connected client, its CONNACK, and the messages it receives in order.
function connect(clientId, opts = {}) {
  const client = mqtt.connect({
    host: "127.0.0.1", port: PORT, protocolVersion: 5, clientId,
    clean: true, reconnectPeriod: 0, ...opts,
  });
  const state = { client, messages: [], waiters: [] };
  client.on("message", (topic, payload, packet) => {
    state.messages.push({ topic, payload, packet });
    for (const w of state.waiters.splice(0)) w();
  });
  return timeout(new Promise((resolve, reject) => {
    client.once("connect", (connack) => {
      state.connack = connack;
      resolve(state);
    });
    client.once("error", reject);
  }), `CONNACK for ${clientId}`);
}

// The messages received up to the one with this payload, inclusive.
function messagesUntil(state, payload) {
  return timeout(new Promise((resolve) => {
    const look = () => {
      const i = state.messages.findIndex((m) => m.payload.toString() === payload);
      if (i < 0) {
        state.waiters.push(look);
        return;
      }
      resolve(state.messages.splice(0, i + 1));
    };
    look();
  }), `message ${JSON.stringify(payload)}`);
}

function end(state) {
  return timeout(state.client.endAsync(), "end");
}

async function run(desc, func) {
  let ok = false;
  let detail;
  try {
    detail = await func();
    ok = detail === undefined;
  } catch (err) {
    detail = `${err.name}: ${err.message}`;
  }
  check(desc, ok, detail);
}

const PUBLISHED = {
  payloadFormatIndicator: true,
  contentType: "application/json; charset=utf-8",
  responseTopic: T + "reply/é",
  correlationData: Buffer.from([0, 1, 2, 0xff, 0]),
  userProperties: { a: ["1", "3"], b: "2", ключ: "значение" },
};

async function main() {
  console.log(`1..${PLAN}`);
  let v5sub;

  await run("2: MQTT.js protocolVersion 5 connects: CONNACK reason 0x00, " +
    "Subscription Identifiers Available and Shared Subscription Available " +
    "not false (3.2.2.3.12/13)", async () => {
    v5sub = await connect("m5j-sub5");
    const { connack } = v5sub;
    const p = connack.properties || {};
    const on = p.subscriptionIdentifiersAvailable !== false &&
      p.sharedSubscriptionAvailable !== false;
    if (connack.reasonCode !== 0 || !on) {
      return JSON.stringify(connack);
    }
  });

  // A 5.0 publisher with all properties at QoS 1 and 2, a 5.0 and a
  // 3.1.1 MQTT.js subscriber.
  const got = {};
  await run("1/3: MQTT.js 5.0 PUBLISH at QoS 1 and 2 with properties " +
    "reaches a 5.0 and a 3.1.1 (protocolVersion 4) MQTT.js subscriber once " +
    "each, at its QoS, payload intact (3.3.3, [MQTT-3.8.4-8])", async () => {
    const topic = T + "props";
    const v4sub = await connect("m5j-sub4", { protocolVersion: 4 });
    const pub = await connect("m5j-pub");
    await timeout(v5sub.client.subscribeAsync(topic, { qos: 2 }), "SUBACK");
    await timeout(v4sub.client.subscribeAsync(topic, { qos: 2 }), "SUBACK");
    for (const qos of [1, 2]) {
      await timeout(pub.client.publishAsync(topic, `prop message q${qos}`,
        { qos, properties: PUBLISHED }), `acknowledgement of QoS ${qos}`);
    }
    await timeout(pub.client.publishAsync(topic, "end", { qos: 2 }), "PUBCOMP");
    got.v5 = await messagesUntil(v5sub, "end");
    got.v4 = await messagesUntil(v4sub, "end");
    await end(pub);
    await end(v4sub);
    const want = "prop message q1@1,prop message q2@2,end@2";
    const seen = (list) => list.map((m) => `${m.payload}@${m.packet.qos}`).join(",");
    if (seen(got.v5) !== want || seen(got.v4) !== want) {
      return `5.0: ${seen(got.v5)}; 3.1.1: ${seen(got.v4)}`;
    }
  });

  await run("3: MQTT.js 5.0 subscriber reads the properties unaltered: " +
    "payload format indicator, content type, response topic, correlation " +
    "data, user properties, a name repeated [MQTT-3.3.2-4/15/16/17/20]",
  async () => {
    if (!got.v5) return "no messages";
    const bad = [];
    for (const m of got.v5.slice(0, 2)) {
      const p = m.packet.properties || {};
      for (const [name, want] of Object.entries(PUBLISHED)) {
        const ok = name === "correlationData"
          ? Buffer.isBuffer(p[name]) && p[name].equals(want)
          : JSON.stringify(p[name]) === JSON.stringify(want);
        if (!ok) bad.push(`q${m.packet.qos} ${name}: ${JSON.stringify(p[name])}`);
      }
    }
    if (bad.length) return bad.join("\n");
  });

  await run("3: the message published without properties arrives " +
    "without any: Property Length 0 [MQTT-2.2.2-1]", async () => {
    if (!got.v5) return "no messages";
    const last = got.v5[got.v5.length - 1];
    if (last.packet.properties !== undefined) {
      return JSON.stringify(last.packet.properties);
    }
  });

  await run("5: MQTT.js { nl: true }: the client's own PUBLISH is not " +
    "forwarded back, another client's is [MQTT-3.8.3-3]", async () => {
    const topic = T + "nolocal";
    const other = await connect("m5j-nl-other");
    await timeout(v5sub.client.subscribeAsync(topic, { qos: 1, nl: true }), "SUBACK");
    await timeout(v5sub.client.publishAsync(topic, "own", { qos: 1 }), "PUBACK");
    await timeout(other.client.publishAsync(topic, "other", { qos: 1 }), "PUBACK");
    const seen = (await messagesUntil(v5sub, "other")).map((m) => `${m.payload}`);
    await end(other);
    if (seen.join(",") !== "other") return `received ${seen.join(",")}`;
  });

  await run("6: MQTT.js subscribe with properties.subscriptionIdentifier " +
    "42: the message carries it [MQTT-3.3.4-3]", async () => {
    const topic = T + "subid";
    await timeout(v5sub.client.subscribeAsync(topic, {
      qos: 1, properties: { subscriptionIdentifier: 42 },
    }), "SUBACK");
    await timeout(v5sub.client.publishAsync(topic, "with id", { qos: 1 }), "PUBACK");
    const [m] = (await messagesUntil(v5sub, "with id")).slice(-1);
    const id = (m.packet.properties || {}).subscriptionIdentifier;
    await timeout(v5sub.client.unsubscribeAsync(topic), "UNSUBACK");
    if (JSON.stringify(id) !== "42" && JSON.stringify(id) !== "[42]") {
      return `subscriptionIdentifier ${JSON.stringify(id)}`;
    }
  });

  await run("7: MQTT.js unsubscribe: UNSUBACK 0x00 for the subscription, " +
    "then 0x11 (No subscription existed) for it again (3.11.3)", async () => {
    const topic = T + "nolocal";
    const first = await timeout(v5sub.client.unsubscribeAsync(topic), "UNSUBACK");
    const again = await timeout(v5sub.client.unsubscribeAsync(topic), "UNSUBACK");
    if (JSON.stringify(first.granted) !== "[0]" ||
        JSON.stringify(again.granted) !== "[17]") {
      return `UNSUBACKs ${JSON.stringify(first)}, ${JSON.stringify(again)}`;
    }
  });
  if (v5sub) await end(v5sub).catch(() => {});
}

setTimeout(() => {
  console.log(`# not finished after ${TOTAL_MS / 1000} s`);
  finish();
}, TOTAL_MS).unref();
main().then(finish, (err) => {
  console.log(`# ${err.stack}`);
  finish();
});
