// The Workers `bunflare dev` runs for this example. The first one serves
// HTTP; the API is reached only through the front end's service binding.
export default { workers: ["./web/wrangler.jsonc", "./api/wrangler.jsonc"] };
