// A customer's personalized product lists (seed 002): staff assign (admin, marketer), the customer
// chooses through the app or at the till (app, pos); every role reads. Scoped to the key's workspace:
// another workspace's customer is a 404.
import type { FastifyInstance } from "fastify";
import Type from "typebox";
import { closed, Id } from "../../services/catalog.js";
import {
  ProductListBodySchema,
  ProductListJsonSchema,
  readProductList,
  readProductLists,
  setProductList,
  type ProductListBody,
} from "../../services/product-lists.js";

const CustomerParams = Type.Object({ customerId: Id }, closed);
const ListParams = Type.Object({ customerId: Id, promotionId: Id }, closed);
type ListParams = { customerId: string; promotionId: string };

export async function productLists(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  app.put<{ Params: ListParams; Body: ProductListBody }>(
    "/customers/:customerId/product-lists/:promotionId",
    {
      config: { roles: ["admin", "marketer", "app", "pos"] },
      schema: {
        tags: ["Product lists"],
        summary: "Set the products a customer chose for a personalized promotion",
        description:
          "Admin and marketer keys assign the list (source assigned), app and pos keys record the customer's own choice (source chosen). The promotion must have a personal-list product set (422 at /promotionId); every SKU must be in the catalog, once (422 at /skus/N); at most the promotion's maxDistinct products (422 at /skus). An empty list means nothing chosen: the promotion's default product applies. After the first sale that applied the list, a promotion that locks after first apply refuses changes (409 list_locked).",
        params: ListParams,
        body: ProductListBodySchema,
        response: { 200: ProductListJsonSchema },
      },
    },
    async (request) => {
      const { customerId, promotionId } = request.params;
      const { workspaceId, role } = request.principal;
      return setProductList(db, workspaceId, customerId, promotionId, request.body, role, app.deps.now());
    },
  );

  app.get<{ Params: { customerId: string } }>(
    "/customers/:customerId/product-lists",
    {
      schema: {
        tags: ["Product lists"],
        summary: "A customer's product lists, by promotion id",
        params: CustomerParams,
        response: { 200: Type.Object({ items: Type.Array(ProductListJsonSchema) }) },
      },
    },
    async (request) => readProductLists(db, request.principal.workspaceId, request.params.customerId),
  );

  app.get<{ Params: ListParams }>(
    "/customers/:customerId/product-lists/:promotionId",
    {
      schema: {
        tags: ["Product lists"],
        summary: "A customer's product list for one promotion (404 when nothing was chosen)",
        params: ListParams,
        response: { 200: ProductListJsonSchema },
      },
    },
    async (request) => {
      const { customerId, promotionId } = request.params;
      return readProductList(db, request.principal.workspaceId, customerId, promotionId);
    },
  );
}
