/**
 * The main menu's drop-down groups (<details class="navgroup">): one open at a time, closed by a click elsewhere
 * or Escape — what a menu bar does; the <details> themselves open without this script. On a phone the menu bar
 * scrolls sideways (base.css): the current console is scrolled into sight.
 */
const groups = [...document.querySelectorAll(".mainnav .navgroup")];

const closeAll = (except) => groups.forEach((group) => group !== except && group.removeAttribute("open"));

groups.forEach((group) => group.addEventListener("toggle", () => group.open && closeAll(group)));
document.addEventListener("click", (event) => !event.target.closest(".navgroup") && closeAll());
document.addEventListener("keydown", (event) => event.key === "Escape" && closeAll());

const current = document.querySelector('.mainnav [aria-current="page"]');
(current?.closest(".navgroup") ?? current)?.scrollIntoView({block: "nearest", inline: "center"});
