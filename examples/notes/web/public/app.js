// The single-page app: lists notes and adds new ones through /api/notes.

const list = document.querySelector("#notes");
const status = document.querySelector("#status");

async function refresh() {
  const response = await fetch("/api/notes");
  const notes = await response.json();
  const cache = response.headers.get("cf-cache-status") ?? "MISS";
  status.textContent = `${notes.length} notes (cache: ${cache}, page: ${location.pathname})`;
  list.replaceChildren(
    ...notes.map((note) => {
      const item = document.createElement("li");
      item.textContent = note.text;
      return item;
    }),
  );
}

document.querySelector("#add").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.querySelector("#text");
  const response = await fetch("/api/notes", { method: "POST", body: JSON.stringify({ text: input.value }) });
  if (!response.ok) {
    status.textContent = (await response.json()).error;
    return;
  }
  input.value = "";
  await refresh();
});

refresh();
