// Starts Swagger UI on the reference page. A file of its own: the page's
// Content-Security-Policy allows no inline script.
globalThis.ui = globalThis.SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [globalThis.SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  // Swagger UI would otherwise load a badge from a public validator: nothing
  // here may leave the host the service runs on.
  validatorUrl: null,
});
