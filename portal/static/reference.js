// Swagger UI over every product's spec; "Try it out" sends the pasted key as X-API-Key.
(function () {
  "use strict";
  const specs = JSON.parse(document.getElementById("mh-specs").textContent);
  const wanted = JSON.parse(document.getElementById("mh-wanted").textContent);
  const primary = specs.find((s) => s.slug === wanted) || specs[0];
  const input = document.getElementById("api-key");
  const state = document.getElementById("key-state");
  const STORE = "mobihub.apiKey";
  input.value = sessionStorage.getItem(STORE) || "";
  const show = () => { state.textContent = input.value ? "Key set: requests carry it." : "No key set."; };
  show();
  document.getElementById("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    input.value = input.value.trim();
    sessionStorage.setItem(STORE, input.value);
    show();
  });
  window.ui = SwaggerUIBundle({
    urls: specs.map((s) => ({ name: s.name, url: s.url })),
    "urls.primaryName": primary.name,
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
    requestInterceptor: (request) => {
      const key = sessionStorage.getItem(STORE);
      const isSpec = specs.some((s) => request.url.endsWith(s.url));
      if (key && !isSpec && !request.headers["X-API-Key"]) { request.headers["X-API-Key"] = key; }
      return request;
    },
  });
})();
