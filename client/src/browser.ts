// The client's browser entry: what the web app shares with the CLI beyond
// the engine — the rules a seller's table follows before it is shared.
export { sellerTableOf, type SellerColumn, type SellerTable, type SellerTableOptions } from "./seller-columns.ts";
