import { describe, expect, it } from "vitest";
import { addressToMqttTopic, mqttTopicToAddress } from "../../src/address/index.js";
import { catchAddressError, errorFields } from "./catch-error.js";

describe("MQTT topics", () => {
  it.each([
    ["qis.hvac.energy-anomaly", "qis/hvac/energy-anomaly"],
    ["qis.iot.predictive-maintenance.bearing-wear.dp0_1", "qis/iot/predictive-maintenance/bearing-wear/dp0_1"],
  ])("%j ↔ %j", (address, topic) => {
    expect(addressToMqttTopic(address)).toBe(topic);
    expect(mqttTopicToAddress(topic)).toBe(address);
  });

  it("validates the address before mapping it", () => {
    expect(errorFields(catchAddressError(() => addressToMqttTopic("qis.hvac.*")))).toEqual({
      code: "ERR_ADDRESS_WILDCARD",
      input: "qis.hvac.*",
      token: "*",
      tokenIndex: 2,
    });
  });

  // Errors name the topic and its level as given, not the dotted form.
  it.each<[string, string, string | undefined, number | undefined]>([
    ["qis/a.b/c", "ERR_ADDRESS_TOKEN", "a.b", 1], // must not become qis.a.b.c
    ["qis/hvac/+", "ERR_ADDRESS_WILDCARD", "+", 2],
    ["qis/hvac/#", "ERR_ADDRESS_WILDCARD", "#", 2],
    ["qis/hvac/*", "ERR_ADDRESS_TOKEN", "*", 2],
    ["/qis/a/b", "ERR_ADDRESS_EMPTY_TOKEN", "", 0],
    ["qis/a/b/", "ERR_ADDRESS_EMPTY_TOKEN", "", 3],
    ["$SYS/a/b", "ERR_ADDRESS_PREFIX", "$SYS", 0],
    ["qis/a", "ERR_ADDRESS_DEPTH", undefined, undefined],
    ["qis.a.b", "ERR_ADDRESS_PREFIX", "qis.a.b", 0],
  ])("refuses topic %j with %s", (topic, code, token, tokenIndex) => {
    const expected: Record<string, unknown> = { code, input: topic };
    if (token !== undefined) expected["token"] = token;
    if (tokenIndex !== undefined) expected["tokenIndex"] = tokenIndex;
    expect(errorFields(catchAddressError(() => mqttTopicToAddress(topic)))).toEqual(expected);
  });

  it("refuses non-strings", () => {
    expect(catchAddressError(() => mqttTopicToAddress(null as unknown as string)).code).toBe("ERR_ADDRESS_TYPE");
    expect(catchAddressError(() => addressToMqttTopic(null as unknown as string)).code).toBe("ERR_ADDRESS_TYPE");
  });
});
