// The demo a newcomer prices against in the first minute: loaded through the public API, like any
// integration would, from examples/demo-data.json and examples/promotions.json.
import { readFile } from "node:fs/promises";
import type { App } from "../api/app.js";
import { examplePath as example } from "./paths.js";

interface DemoData {
  readonly stores: { id: string; name: string }[];
  readonly catalog: { sku: string }[];
  readonly customers: { id: string }[];
  /** Typed profile attributes (seed 000's loyaltyCard). */
  readonly attributes: { name: string }[];
  /** Seed 000: the loyaltyCard segment, computed from the attribute. */
  readonly segmentations: { id: string }[];
  /** Seed 003: the four-tier program with its discounts (POST /v1/loyalty/templates/tiers). */
  readonly tierTemplate: object;
  readonly events: object[];
}

export async function loadDemo(app: App, adminKey: string): Promise<void> {
  const data = JSON.parse(await readFile(example("demo-data.json"), "utf8")) as DemoData;
  const { promotions } = JSON.parse(await readFile(example("promotions.json"), "utf8")) as {
    promotions: { id: string }[];
  };
  const call = async (method: "PUT" | "POST", url: string, payload?: object): Promise<void> => {
    const response = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${adminKey}` },
      ...(payload ? { payload } : {}),
    });
    if (response.statusCode >= 300)
      throw new Error(`demo: ${method} ${url} answered ${response.statusCode}: ${response.body}`);
  };
  for (const { id, ...store } of data.stores) await call("PUT", `/v1/stores/${id}`, store);
  await call("POST", "/v1/catalog/items/bulk", { items: data.catalog });
  for (const { name, ...attribute } of data.attributes)
    await call("PUT", `/v1/attributes/${name}`, attribute);
  for (const { id, ...customer } of data.customers) await call("PUT", `/v1/customers/${id}`, customer);
  for (const { id, ...segmentation } of data.segmentations)
    await call("PUT", `/v1/segmentations/${id}`, segmentation);
  await call("POST", "/v1/loyalty/templates/tiers", data.tierTemplate);
  await call("POST", "/v1/events/batch", { events: data.events });
  for (const promotion of promotions) {
    await call("POST", "/v1/promotions", promotion);
    await call("POST", `/v1/promotions/${promotion.id}/publish`);
  }
}
