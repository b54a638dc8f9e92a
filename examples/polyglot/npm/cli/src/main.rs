use std::io::Read;

fn main() {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("polyglot: reading stdin: {e}");
        std::process::exit(1);
    }
    let s = polyglot_core::stats(&text);
    println!("{} {} {}", s.lines, s.words, s.bytes);
}
