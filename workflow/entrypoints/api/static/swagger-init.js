// Starts Swagger UI on /docs. A file of its own, not an inline script: the page's
// Content-Security-Policy (the same as the web pages') allows scripts from this site only.
window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.openapi,
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
